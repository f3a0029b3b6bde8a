//! The device list: `POST /m2m/v1/devices/actions/list`, page after page.

use serde::{Deserialize, Serialize};
use thingspace_core::de::null_as_default;
use thingspace_core::http::StatusCode;
use thingspace_core::pagination::{Page, PageSource};
use thingspace_core::{ApiRequest, Client, Idempotency, Response, Result};

use super::model::Device;

/// Operation name of a device-list page request.
pub const LIST_DEVICES: &str = "m2m.devices.list";

/// The cursor of the device list: the largest device id seen so far (`largestDeviceIdSeen`).
pub type DeviceCursor = i64;

/// Which devices to list: an account, and optional narrowing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeviceFilter {
    /// The account.
    pub account_name: String,
    /// Only devices in this group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// Only devices on this plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_plan: Option<String>,
    /// Only devices in this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_state: Option<String>,
}

impl DeviceFilter {
    /// Every device of `account`.
    pub fn account(account: impl Into<String>) -> Self {
        Self {
            account_name: account.into(),
            ..Self::default()
        }
    }

    /// Only devices in `group`.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group_name = Some(group.into());
        self
    }
}

/// The [`PageSource`] of a device list.
#[derive(Debug, Clone)]
pub struct DevicePages {
    client: Client,
    filter: DeviceFilter,
}

impl DevicePages {
    /// The pages of the devices that `filter` selects, fetched with `client`.
    pub(super) fn new(client: Client, filter: DeviceFilter) -> Self {
        Self { client, filter }
    }
}

impl PageSource for DevicePages {
    type Item = Device;
    type Cursor = DeviceCursor;

    async fn fetch_page(&self, cursor: Option<DeviceCursor>) -> Result<Page<Device, DeviceCursor>> {
        decode_list(
            &self
                .client
                .send(&list_request(&self.filter, cursor))
                .await?,
        )
    }

    fn operation(&self) -> Option<&'static str> {
        Some(LIST_DEVICES)
    }

    /// The page's device identifiers: a server that serves the same page under fresh cursors
    /// is caught. A page with a device without identifiers is not compared.
    fn fingerprint(&self, devices: &[Device]) -> Option<u64> {
        if devices.iter().any(|d| d.device_ids.is_empty()) {
            return None;
        }
        Some(thingspace_core::pagination::digest(
            devices.iter().map(|d| &d.device_ids),
        ))
    }
}

/// The body of a device-list page request.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListBody<'a> {
    #[serde(flatten)]
    filter: &'a DeviceFilter,
    largest_device_id_seen: DeviceCursor,
}

/// The request of one page of [`DevicesApi::list`](super::DevicesApi::list): a read, safe to repeat.
pub fn list_request(filter: &DeviceFilter, cursor: Option<DeviceCursor>) -> ApiRequest {
    ApiRequest::post(LIST_DEVICES, "/m2m/v1/devices/actions/list")
        .json(&ListBody {
            filter,
            largest_device_id_seen: cursor.unwrap_or(0),
        })
        .with_idempotency(Idempotency::Safe)
        .for_account(filter.account_name.clone())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListAnswer {
    /// Required: a body without `devices` is not a page.
    #[serde(deserialize_with = "null_as_default")]
    devices: Vec<Device>,
    #[serde(default)]
    has_more_data: Option<bool>,
}

/// Decodes one device-list page: its devices, whether more follow (a 202 or `hasMoreData`),
/// and the next cursor, the largest device id on the page (the `DeviceId` extended attribute,
/// or else the largest numeric identifier).
///
/// # Errors
/// A decode error for a body that is not a device page.
pub fn decode_list(response: &Response) -> Result<Page<Device, DeviceCursor>> {
    let body: ListAnswer = response.json(LIST_DEVICES)?;
    let more = body.has_more_data == Some(true) || response.status == StatusCode::ACCEPTED;
    if !more {
        return Ok(Page::last(body.devices));
    }
    let largest = body
        .devices
        .iter()
        .filter_map(|d| {
            d.paging_id().or_else(|| {
                d.device_ids
                    .iter()
                    .filter_map(|id| id.id.trim().parse::<DeviceCursor>().ok())
                    .max()
            })
        })
        .max();
    Ok(Page::more(body.devices, largest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_continues_from_its_largest_device_id() {
        let page = |status: u16, body: &str| {
            decode_list(&Response::new(
                StatusCode::from_u16(status).expect("status"),
                Default::default(),
                body.to_owned(),
            ))
        };
        let p = page(
            202,
            r#"{"hasMoreData":true,"devices":[
                {"deviceIds":[{"id":"5","kind":"imei"}],"extendedAttributes":[{"key":"DeviceId","value":"1000014"}]},
                {"deviceIds":[{"id":"6","kind":"imei"}],"extendedAttributes":[{"key":"DeviceId","value":"1000007"}]}]}"#,
        )
        .expect("page");
        assert_eq!((p.has_more, p.next), (true, Some(1_000_014)));
        // No DeviceId attribute: the largest numeric identifier.
        let p = page(
            202,
            r#"{"devices":[{"deviceIds":[{"id":"990013907835573","kind":"imei"},{"id":"x","kind":"eid"}]}]}"#,
        )
        .expect("page");
        assert_eq!(p.next, Some(990_013_907_835_573));
        // More, but nothing to continue from: no cursor, which the listing turns into an error.
        let p = page(202, r#"{"hasMoreData":true,"devices":[]}"#).expect("page");
        assert_eq!((p.has_more, p.next), (true, None));
        let p = page(200, r#"{"hasMoreData":false,"devices":[{"deviceIds":[]}]}"#).expect("page");
        assert!(!p.has_more);
        assert!(
            page(200, r#"{"hasMoreData":false}"#).is_err(),
            "no devices: not a page"
        );
    }
}
